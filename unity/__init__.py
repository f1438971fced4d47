"""Unity Connection: its AuthZ servers (the CUCM clusters whose keys it fetches) and the token check of its REST API."""
