"""tasks/points"""
