#!/usr/bin/env python3
"""predict_stream.py: keep POSTing /predict while something else happens.

  predict_stream.py PORT WAV STOP_FILE OUT_TSV [THREADS]

THREADS clients (default 2) each send the WAV to /predict in a loop until
STOP_FILE exists; every answer is one line of OUT_TSV: status, model_version,
predicted_class. Exit 0 when every request was answered 200.
"""
import http.client
import json
import os
import sys
import threading
import time
import uuid


def post(port, wav):
    b = uuid.uuid4().hex
    body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.wav\"\r\n"
             "Content-Type: audio/wav\r\n\r\n" % b).encode() + wav + ("\r\n--%s--\r\n" % b).encode())
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        c.request("POST", "/predict", body, {"Content-Type": "multipart/form-data; boundary=" + b})
        r = c.getresponse()
        data = r.read()
        return r.status, data
    finally:
        c.close()


def main():
    port, wav_path, stop, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    nthreads = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    wav = open(wav_path, "rb").read()
    lock = threading.Lock()
    rows = []

    def run():
        while not os.path.exists(stop):
            try:
                st, data = post(port, wav)
                j = json.loads(data) if st == 200 else {}
                row = (st, j.get("model_version", "-"), j.get("predicted_class", "-"))
            except Exception as e:  # noqa: BLE001 - any failure is a failed request
                row = (-1, repr(e)[:60], "-")
            with lock:
                rows.append(row)
            time.sleep(0.01)

    ts = [threading.Thread(target=run) for _ in range(nthreads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(out, "w") as f:
        for r in rows:
            f.write("%s\t%s\t%s\n" % r)
    bad = [r for r in rows if r[0] != 200]
    print("predict_stream: %d requests, %d not 200 %s" % (len(rows), len(bad), bad[:3]))
    return 0 if rows and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
