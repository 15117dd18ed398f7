#!/usr/bin/env python3
"""s3_fault_proxy.py: an HTTP proxy in front of the S3 test server that
injects the failures S3 clients must survive: 503 SlowDown, 500
InternalError, 429, a connection closed without an answer, and a GET body
cut off half-way. Every Nth request (counting from the first) gets the next
fault in that cycle; the others are forwarded unchanged (Host header kept,
so SigV4 signatures still verify upstream). Requests for the bucket
"es-elsewhere" get S3's wrong-region answer (301 PermanentRedirect with
x-amz-bucket-region: eu-west-1), outside the count. A successful GET of a key
whose path contains "flipbyte" has one byte of its body flipped (headers,
ETag and length unchanged): a corrupted transfer the client must detect.

    s3_fault_proxy.py UPSTREAM_PORT EVERY [LOGFILE]   -> prints "READY <port>"
"""
import http.client
import http.server
import itertools
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
        if self.path.startswith("/es-elsewhere"):
            # a bucket in another region, as S3 answers it (not counted)
            self.send_response(301)
            self.send_header("x-amz-bucket-region", "eu-west-1")
            err = ERR.format(code="PermanentRedirect", msg="The bucket you are attempting to "
                             "access must be addressed using the specified endpoint.").encode()
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(err)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(err)
            return
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
