"""Events: the extractor (spans plus event frames), batch extraction with resume, argument linking;
actor and date normalisation and one record per event across articles (actors, dates, merge)."""
