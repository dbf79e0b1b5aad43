from symreg.cli import main

main()
