"""Entry point of the PyInstaller bundle: the same command line as the installed ``loremind``."""

from ui.launcher import main

if __name__ == "__main__":
    main()
