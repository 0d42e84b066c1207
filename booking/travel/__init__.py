"""Travel: trips, flights, hotels, companions, visa support letters, the itinerary."""
