"""What the confidence methods cost online: the same chat requests (the README's kind of trace program, greedy, 80
tokens) with the probe, with confidence off, and with consistency over 5 samples at temperature 0.8, interleaved in
random order against one running server; medians of the wall time per request after 5 warm-up rounds.

Usage: bin/candor serve ... --port PORT, then python3 bench/consistency_cost.py PORT
"""
import json, sys, time, urllib.request, statistics, random
url="http://127.0.0.1:%s/v1/chat/completions" % (sys.argv[1] if len(sys.argv) > 1 else "8000")
random.seed(3)
def prog():
    a=random.randint(100,999); b=random.randint(2,40); c=random.randint(3,9)
    return f"Trace this program:\na = {a}\nb = a * {b}\nc = b % {c}\nprint(c)\n"
def post(body):
    req=urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type":"application/json"})
    t=time.perf_counter(); r=json.load(urllib.request.urlopen(req)); return time.perf_counter()-t, r
res={"plain":[], "probe_off":[], "consistency5":[]}
for i in range(40):
    p=prog()
    base={"messages":[{"role":"user","content":p}],"max_tokens":80,"temperature":0,"seed":i}
    order=[("plain",dict(base)),("probe_off",dict(base,confidence=False)),("consistency5",dict(base,confidence={"method":"consistency","samples":5,"temperature":0.8}))]
    random.shuffle(order)
    for name,b in order:
        dt,r=post(b)
        if i>=5: res[name].append(dt*1000)
for k,v in res.items(): print(k, "median ms %.1f"%statistics.median(v), "n",len(v))
m={k:statistics.median(v) for k,v in res.items()}
print("consistency5/plain %.2f  plain/probe_off %.2f"%(m["consistency5"]/m["plain"], m["plain"]/m["probe_off"]))
