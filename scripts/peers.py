"""Two published solvers on the requests `scripts/bench.sh peers` writes.

LKH (Helsgaun's Lin-Kernighan, 5-opt moves over alpha candidates after
subgradient ascent; bundled in the `elkai` package) and fast_tsp (a compiled
local search with a time budget), one request at a time on one core, against
the same best-known lengths as route-optim's own run. Distances are the
haversine km that route-optim uses; LKH reads them as integer metres,
fast_tsp as integers scaled so the request's longest edge is 65535 (its
limit). Each tour found is measured again in float km.

    python3 peers.py REQUESTS OURS OURS_SECONDS REFERENCE...
"""

import json
import math
import sys
import time

import elkai._elkai as lkh
import fast_tsp

EARTH_RADIUS_KM = 6371.0088


def haversine_km(a, b):
    lat1, lat2 = math.radians(a[0]), math.radians(b[0])
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(
        math.radians(b[1] - a[1]) / 2
    ) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def lkh_tour(dist, params):
    n = len(dist)
    problem = (
        f"TYPE : TSP\nDIMENSION : {n}\nEDGE_WEIGHT_TYPE : EXPLICIT\n"
        "EDGE_WEIGHT_FORMAT : FULL_MATRIX\nEDGE_WEIGHT_SECTION\n"
        + "\n".join(" ".join(str(round(d * 1000)) for d in row) for row in dist)
        + "\n"
    )
    header = "RUNS = 1\nPROBLEM_FILE = :stdin:\nTRACE_LEVEL = 0\n" + "".join(
        f"{k} = {v}\n" for k, v in params.items()
    )
    # The text is built before the clock starts; LKH's parsing of it counts.
    t0 = time.perf_counter()
    tour = lkh.solve_problem(header, problem)
    return [i - 1 for i in tour], time.perf_counter() - t0


def fast_tsp_tour(dist, budget_s):
    scale = 65535 / max(max(row) for row in dist)
    ints = [[round(d * scale) for d in row] for row in dist]
    t0 = time.perf_counter()
    tour = fast_tsp.find_tour(ints, budget_s)
    return tour, time.perf_counter() - t0


def main():
    requests, ours_path, ours_seconds, *references = sys.argv[1:]
    reqs = [json.loads(line) for line in open(requests)]
    best = {r["id"]: math.inf for r in reqs}
    ours = [json.loads(line) for line in open(ours_path)]
    for path in references:
        for d in map(json.loads, open(path)):
            best[d["id"]] = min(best[d["id"]], d["distance_km"])
    for d in ours:
        best[d["id"]] = min(best[d["id"]], d["distance_km"])
    n = len(reqs[0]["coordinates"])
    ours_ms = 1e3 * float(ours_seconds) / len(reqs)
    solvers = [
        ("LKH, 1 run, default trials (n)", lambda m: lkh_tour(m, {})),
        ("LKH, 1 run, 10 trials", lambda m: lkh_tour(m, {"MAX_TRIALS": 10})),
        ("LKH, 1 run, 1 trial, 1 ascent step", lambda m: lkh_tour(m, {"MAX_TRIALS": 1, "INITIAL_PERIOD": 1})),
        (f"fast_tsp, {ours_ms:.2f} ms budget", lambda m: fast_tsp_tour(m, ours_ms / 1e3)),
        (f"fast_tsp, {4 * ours_ms:.2f} ms budget", lambda m: fast_tsp_tour(m, 4 * ours_ms / 1e3)),
    ]
    hits = sum(d["distance_km"] <= best[d["id"]] * (1 + 1e-9) for d in ours)
    print(f"{n} stops, {len(reqs)} requests, one core")
    print(f"  route-optim solve, default budget: {100 * hits / len(ours):.1f}% at best known, {ours_ms:.2f} ms a request")
    for name, solve in solvers:
        hits, seconds, gaps = 0, 0.0, []
        for r in reqs:
            c = r["coordinates"]
            dist = [[haversine_km(p, q) for q in c] for p in c]
            tour, s = solve(dist)
            if sorted(tour) != list(range(n)):
                raise SystemExit(f"{name}: not a tour on request {r['id']}")
            length = sum(dist[tour[i - 1]][tour[i]] for i in range(n))
            seconds += s
            hits += length <= best[r["id"]] * (1 + 1e-9)
            gaps.append(100 * (length / best[r["id"]] - 1))
        print(
            f"  {name}: {100 * hits / len(reqs):.1f}% at best known, mean gap {sum(gaps) / len(gaps):.4f}%, "
            f"shorter than best known {sum(g < -1e-7 for g in gaps)}, {1e3 * seconds / len(reqs):.2f} ms a request"
        )


main()
