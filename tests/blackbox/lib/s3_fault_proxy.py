#!/usr/bin/env python3
"""s3_fault_proxy.py: an HTTP proxy in front of the S3 test server that
injects the failures S3 clients must survive: 503 SlowDown, 500
InternalError, 429, a connection closed without an answer, and a GET body
cut off half-way. Every Nth request (counting from the first) gets the next
fault in that cycle; the others are forwarded unchanged (Host header kept,
so SigV4 signatures still verify upstream).

Buckets in another region, outside the count: "es-elsewhere" and
"es-malformed" live in eu-west-1. A request signed for eu-west-1 is
forwarded; one signed for any other region gets S3's wrong-region answer
with x-amz-bucket-region: eu-west-1 (es-elsewhere: 301 PermanentRedirect,
es-malformed: 400 AuthorizationHeaderMalformed). "es-nowhere" always answers
301 naming a region other than the one signed for (a redirect loop). Each
such answer is logged as "region STATUS METHOD PATH signed=REGION". A successful GET of a key
whose path contains "flipbyte" has one byte of its body flipped (headers,
ETag and length unchanged): a corrupted transfer the client must detect.

    s3_fault_proxy.py UPSTREAM_PORT EVERY [LOGFILE]   -> prints "READY <port>"
"""
import http.client
import http.server
import itertools
import re
import sys
import threading

UPSTREAM = int(sys.argv[1])
EVERY = int(sys.argv[2])
LOG = open(sys.argv[3], "a", buffering=1) if len(sys.argv) > 3 else None
FAULTS = ["slowdown", "internal", "throttle", "drop", "truncate"]
counter = itertools.count(1)
fault_cycle = itertools.cycle(FAULTS)
lock = threading.Lock()

ERR = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
       '<Message>{msg}</Message><RequestId>fault</RequestId></Error>')


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _send_error(self, status, code, msg):
        body = ERR.format(code=code, msg=msg).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        bucket = self.path.split("?", 1)[0].split("/")[1] if self.path.startswith("/") else ""
        if bucket in ("es-elsewhere", "es-malformed", "es-nowhere"):
            m = re.search(r"Credential=[^/]+/[0-9]{8}/([^/]+)/s3/aws4_request",
                          self.headers.get("Authorization", ""))
            signed = m.group(1) if m else ""
            home = "eu-west-1"
            if bucket == "es-nowhere":
                home = "ap-south-1" if signed == "eu-west-1" else "eu-west-1"
            elif signed == home:
                return self._forward(body, None)
            return self._wrong_region(bucket, home, signed)
        with lock:
            n = next(counter)
            fault = next(fault_cycle) if n % EVERY == 0 else None
        if fault == "truncate" and self.command != "GET":
            fault = "slowdown"
        if LOG:
            LOG.write(f"{n} {self.command} {self.path} {fault or '-'}\n")
        if fault == "slowdown":
            return self._send_error(503, "SlowDown", "Please reduce your request rate.")
        if fault == "internal":
            return self._send_error(500, "InternalError", "We encountered an internal error.")
        if fault == "throttle":
            return self._send_error(429, "SlowDown", "Too many requests.")
        if fault == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return
        self._forward(body, fault)

    def _wrong_region(self, bucket, home, signed):
        if bucket == "es-malformed":
            status, code = 400, "AuthorizationHeaderMalformed"
            msg = (f"The authorization header is malformed; the region '{signed}' is wrong; "
                   f"expecting '{home}'")
        else:
            status, code = 301, "PermanentRedirect"
            msg = ("The bucket you are attempting to access must be addressed using the "
                   "specified endpoint.")
        if LOG:
            LOG.write(f"region {status} {self.command} {self.path} signed={signed}\n")
        err = ERR.format(code=code, msg=msg).encode()
        self.send_response(status)
        self.send_header("x-amz-bucket-region", home)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(err)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(err)

    def _forward(self, body, fault):
        up = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=60)
        headers = {k: v for k, v in self.headers.items()}
        up.request(self.command, self.path, body=body, headers=headers)
        resp = up.getresponse()
        data = resp.read()
        if (self.command == "GET" and "flipbyte" in self.path.split("?", 1)[0]
                and 200 <= resp.status < 300 and data):
            mid = len(data) // 2
            data = data[:mid] + bytes([data[mid] ^ 0x01]) + data[mid + 1:]
            if LOG:
                LOG.write(f"flipped byte {mid} of {self.path}\n")
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() in ("transfer-encoding", "connection", "content-length"):
                continue
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        if fault == "truncate":
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if fault == "truncate" and len(data) > 1:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return
        self.wfile.write(data)
        up.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(f"READY {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
