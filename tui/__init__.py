"""reelcut's front ends for the terminal: the Textual editor and the command line."""
