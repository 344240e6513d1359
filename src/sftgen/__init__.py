"""sftgen: does supervised fine-tuning generalize, and what makes it?"""

__version__ = "0.1.0"
