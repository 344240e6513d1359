"""tasks/sokoban"""
