"""The collector's web app (`pokecard serve`): scan, fix, collection, export."""
