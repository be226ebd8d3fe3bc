"""Events: the extractor (spans plus event frames), batch extraction with resume, argument linking."""
