from pokecard.cli import main

main()
