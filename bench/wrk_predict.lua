-- wrk_predict.lua: POST /predict with a multipart body read from the file
-- named by the WRK_WAV environment variable (bench/serve.sh writes it).
local f = assert(io.open(os.getenv("WRK_WAV"), "rb"))
local wav = f:read("*a")
f:close()
local b = "wrkB0undary7d93"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. b
wrk.body = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"noise.wav\"\r\n"
  .. "Content-Type: audio/wav\r\n\r\n" .. wav .. "\r\n--" .. b .. "--\r\n"

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("wrk: %d requests, %.1f req/s, p50 %.1f ms, p99 %.1f ms, errors %d (non-2xx %d)\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors, summary.errors.status))
end
