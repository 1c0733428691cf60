#!/usr/bin/env python3
"""A rest-hook endpoint for trying Subscriptions: prints each notification's type, status and focus, answers 200."""
import http.server, json, sys

class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        bundle = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        status = {p["name"]: p for p in bundle["entry"][0]["resource"]["parameter"]}
        kind = status["type"]["valueCode"]
        focus = [e.get("resource", {}).get("resourceType", e.get("fullUrl")) for e in bundle["entry"][1:]]
        print(f"{self.path}: {kind}, status {status['status']['valueCode']}, events {status['events-since-subscription-start']['valueString']}, focus {focus}", flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 4567), Receiver).serve_forever()
