#!/usr/bin/env python3
"""http_probe.py: socket-level clients for the server's black-box tests.

  http_probe.py slowloris PORT SECONDS   hold connections that send a header
                                         byte at a time, while a normal client
                                         keeps getting /health answered; exit 0
                                         when every normal request succeeded
  http_probe.py concurrent PORT N PATH   N connections at once, each one GET;
                                         exit 0 when all N answered 200
  http_probe.py slow-upload PORT FILE SECONDS SIGNAL_PID
                                         POST FILE to /upload-less /predict
                                         spread over SECONDS, sending SIGTERM to
                                         SIGNAL_PID half way; prints the status
  http_probe.py garbage PORT N           N malformed requests (random bytes, bad
                                         request lines, huge headers, broken
                                         chunking, lying lengths); exit 0 when no
                                         answer was a 5xx and /health still works
  http_probe.py per-ip PORT LIMIT HOLD   client A (127.0.0.1) opens HOLD slow
                                         connections; exactly LIMIT are kept,
                                         A's next request is refused, client B
                                         (127.0.0.2) keeps being served, A is
                                         served again once it lets go; exit 0
                                         when all of that holds
  http_probe.py wav PATH SECONDS [SEED]  a 16-bit 16 kHz WAV of uniform noise
  http_probe.py json-field FILE KEY      print a top-level field of a JSON file
"""
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
import wave


def http_get(port, path, timeout=30):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode(errors="replace")
        return int(line.split()[1]) if line.startswith("HTTP/") else -1
    finally:
        s.close()


def slowloris(port, seconds):
    socks = []
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    end = time.time() + seconds
    ok = bad = 0
    while time.time() < end:
        for s in socks:
            try:
                s.sendall(b"X-a: b\r\n")
            except OSError:
                pass
        t0 = time.time()
        try:
            code = http_get(port, "/health", timeout=5)
        except OSError:
            code = -1
        if code == 200 and time.time() - t0 < 5:
            ok += 1
        else:
            bad += 1
        time.sleep(0.2)
    for s in socks:
        s.close()
    print("slowloris: %d normal requests answered, %d failed" % (ok, bad))
    return 0 if ok > 0 and bad == 0 else 1


def concurrent(port, n, path):
    codes = [None] * n
    barrier = threading.Barrier(n)
    socks = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(n)]

    def run(i):
        s = socks[i]
        try:
            barrier.wait()
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            line = data.split(b"\r\n", 1)[0].decode(errors="replace")
            codes[i] = int(line.split()[1])
        except Exception as e:  # noqa: BLE001 - report any failure as a bad code
            codes[i] = repr(e)
        finally:
            s.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    good = sum(1 for c in codes if c == 200)
    print("concurrent: %d/%d answered 200; others: %s" % (good, n, [c for c in codes if c != 200][:5]))
    return 0 if good == n else 1


def get_from(src, port, path, timeout=5):
    """GET path from source address src; the status code, or -1 when the
    server closed the connection without an answer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode(errors="replace")
        return int(line.split()[1]) if line.startswith("HTTP/") else -1
    except OSError:
        return -1
    finally:
        s.close()


def per_ip(port, limit, hold):
    """Two clients on loopback, told apart by source address (127.0.0.0/8 is
    all local on Linux): A holds slow connections, B must not notice."""
    import select
    bad = []
    a = []
    for _ in range(hold):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        s.bind(("127.0.0.1", 0))
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass  # refused at once: counted as closed below
        a.append(s)
    time.sleep(1.0)
    # A socket the server closed is readable (EOF or reset); a held one is not.
    readable, _, _ = select.select(a, [], [], 0.5)
    held = len(a) - len(readable)
    print("per-ip: A opened %d slow connections, the server kept %d" % (hold, held))
    if held != limit:
        bad.append("A holds %d connections, the limit is %d" % (held, limit))
    live = [s for s in a if s not in readable]
    code = get_from("127.0.0.1", port, "/health", timeout=3)
    print("per-ip: A's next request while at its limit: %s" % code)
    if code != -1:
        bad.append("A got %s past its limit" % code)
    ok = 0
    end = time.time() + 3
    while time.time() < end:
        for s in live:  # keep A's connections alive, slowloris style
            try:
                s.sendall(b"X-a: b\r\n")
            except OSError:
                pass
        for _ in range(5):
            c = get_from("127.0.0.2", port, "/health")
            if c == 200:
                ok += 1
            else:
                bad.append("B got %s while A held its connections" % c)
        time.sleep(0.2)
    print("per-ip: B got %d answers while A held %d connections" % (ok, held))
    for s in a:
        s.close()
    code = -1
    end = time.time() + 5
    while code != 200 and time.time() < end:
        code = get_from("127.0.0.1", port, "/health")
        time.sleep(0.1)
    print("per-ip: A after letting go: %s" % code)
    if code != 200:
        bad.append("A is not served after closing its connections (%s)" % code)
    for b in bad:
        print("per-ip FAIL: " + b)
    return 1 if bad or ok == 0 else 0


def slow_upload(port, path, seconds, pid):
    body_file = open(path, "rb").read()
    b = "slowB0undary"
    body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.wav\"\r\n"
             "Content-Type: audio/wav\r\n\r\n" % b).encode() + body_file +
            ("\r\n--%s--\r\n" % b).encode())
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(("POST /predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               "Content-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n"
               % (b, len(body))).encode())
    steps = 20
    step = (len(body) + steps - 1) // steps
    for i in range(steps):
        s.sendall(body[i * step:(i + 1) * step])
        if i == steps // 2:
            os.kill(pid, signal.SIGTERM)
        time.sleep(seconds / steps)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    print(line.split()[1] if line.startswith("HTTP/") else "none")
    return 0


def raw_exchange(port, payload, timeout=1):
    # An answer to a malformed request comes at once; silence means the server
    # waits for the rest of it (and drops the connection at its idle timeout),
    # which is no answer at all, so a short wait is enough to see any 5xx.
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, OSError):
                break
            if not chunk:
                break
            data += chunk
        return data
    finally:
        s.close()


def garbage(port, n):
    rng = random.Random(4242)
    mp = b"multipart/form-data; boundary=zz"
    fixed = [
        b"\x00\x01\x02 garbage\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: " + mp +
        b"\r\n\r\nZZZ\r\nnot hex\r\n",
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: " + mp + b"\r\nContent-Length: 10\r\n\r\n--zz\r\n",
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=\r\nContent-Length: 4\r\n\r\nabcd",
        b"POST /retrain HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n\xff\xfe\x00{[",
        b"GET /" + b"a" * 200000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 300000 + b"\r\n\r\n",
        b"GET /%00%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /dashboard/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    bad5 = []
    for i in range(n):
        if i < len(fixed):
            payload = fixed[i]
        else:
            k = rng.randint(0, 3)
            if k == 0:
                payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000)))
            elif k == 1:
                body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 3000)))
                payload = (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: " + mp +
                           b"\r\nContent-Length: %d\r\n\r\n" % len(body) + b"--zz\r\n" + body)
            elif k == 2:
                body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 500)))
                payload = (b"POST /retrain HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: %d\r\n\r\n" % len(body) + body)
            else:
                line = bytes(rng.choice(b"GETPOS /\r\n:%?&=HTTP1.") for _ in range(rng.randint(1, 200)))
                payload = line + b"\r\n\r\n"
        try:
            data = raw_exchange(port, payload)
        except OSError:
            continue
        # 505 to an "HTTP/9.9" request line is libmicrohttpd's own protocol
        # answer (RFC 9110), given before our code sees the request: the only
        # 5xx allowed, and only for that request.
        if data.startswith(b"HTTP/") and data[9:10] == b"5" and not (i == 2 and data[9:12] == b"505"):
            bad5.append((i, data[:60]))
    ok = http_get(port, "/health") == 200
    print("garbage: %d requests, %d answered 5xx %s, /health after: %s" % (n, len(bad5), bad5[:3], ok))
    return 0 if ok and not bad5 else 1


def make_wav(path, seconds, seed):
    rng = random.Random(seed)
    n = int(16000 * seconds)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(struct.pack("<%dh" % n, *[rng.randint(-32768, 32767) for _ in range(n)]))
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "slowloris":
        return slowloris(int(sys.argv[2]), float(sys.argv[3]))
    if cmd == "concurrent":
        return concurrent(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    if cmd == "slow-upload":
        return slow_upload(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5]))
    if cmd == "garbage":
        return garbage(int(sys.argv[2]), int(sys.argv[3]))
    if cmd == "per-ip":
        return per_ip(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    if cmd == "wav":
        return make_wav(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    if cmd == "json-field":
        v = json.load(open(sys.argv[2]))[sys.argv[3]]
        print(json.dumps(v) if not isinstance(v, str) else v)
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
