"""Reading letters (PDF) with personal QR codes, access codes and a reply card."""
