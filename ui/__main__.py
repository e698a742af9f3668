"""Run the app as ``python -m ui`` (the same as the installed ``loremind`` command)."""

from ui.launcher import main

main()
