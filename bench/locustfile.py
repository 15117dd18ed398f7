"""locustfile.py: the original EcoSight load scenario, against `ecosight serve`.

Users mix GET /status (weight 5), GET /metrics (3), POST /predict of a 2-s
16-bit 16 kHz WAV of uniform noise (10) and GET /health (1), waiting 1-3 s
between requests (the original's profile) or 0.1-0.5 s with
ES_LOCUST_PROFILE=heavy. Run by bench/serve.sh; by hand:

    locust -f bench/locustfile.py --headless -u 200 -r 50 -t 60s --host http://127.0.0.1:8000
"""
import io
import os
import random
import struct
import wave

from locust import HttpUser, between, task


def noise_wav(seconds=2.0, rate=16000, seed=1234):
    rng = random.Random(seed)
    n = int(seconds * rate)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack("<%dh" % n, *[rng.randint(-32768, 32767) for _ in range(n)]))
    return buf.getvalue()


WAV = noise_wav()
HEAVY = os.environ.get("ES_LOCUST_PROFILE") == "heavy"


class EcoSightUser(HttpUser):
    wait_time = between(0.1, 0.5) if HEAVY else between(1, 3)

    @task(5)
    def status(self):
        self.client.get("/status")

    @task(3)
    def metrics(self):
        self.client.get("/metrics")

    @task(10)
    def predict(self):
        with self.client.post("/predict", files={"file": ("noise.wav", WAV, "audio/wav")},
                              catch_response=True) as r:
            if r.status_code != 200 or '"predicted_class"' not in r.text:
                r.failure("status %d: %s" % (r.status_code, r.text[:120]))

    @task(1)
    def health(self):
        self.client.get("/health")
