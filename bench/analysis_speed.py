"""Speed of the whole analysis: ecghub vs NeuroKit2, measured in the same run.

* 10 s 12-lead (LUDB records, 500 Hz): ``ecg.analyze_recording`` against
  ``nk.ecg_process`` run on each of the 12 leads (the issue's yardstick).
* 30 min 2-lead (MIT-BIH, 360 Hz): ``ecg.analyze_recording`` alone.

Prints median milliseconds and the ratio. Data: PhysioNet LUDB and MIT-BIH (credits in
../shared/data/README.md).

    .venv/bin/python -m bench.analysis_speed [--records 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

from bench.common import data_dir
from ecg.analyze import analyze_recording
from ecg.io import read_recording


def _ms(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - t) * 1000)
    return best


def main() -> None:
    import neurokit2 as nk

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--records", type=int, default=20, help="LUDB records (odd numbers from 1)")
    args = p.parse_args()
    root = data_dir()
    ours, theirs, failures = [], [], []
    for n in range(1, 2 * args.records, 2):
        rec = read_recording(root / "ludb" / f"{n}.hea")
        analyze_recording(rec)  # warm caches (filter design)
        ours.append(_ms(lambda: analyze_recording(rec)))

        def nk_all() -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for i in range(rec.signals.shape[1]):
                    try:
                        nk.ecg_process(rec.signals[:, i], sampling_rate=int(rec.fs))
                    except ValueError:  # NeuroKit2 fails on some leads; the time spent still counts
                        failures.append((n, rec.leads[i]))

        theirs.append(_ms(nk_all, repeat=1))
    o, t = statistics.median(ours), statistics.median(theirs)
    print(f"10 s 12-lead, {len(ours)} LUDB records: ecghub analyze_recording median {o:.1f} ms; "
          f"NeuroKit2 ecg_process x 12 leads median {t:.1f} ms; ratio {t / o:.1f}x "
          f"(NeuroKit2 raised on {len(failures)} leads)")
    long = []
    for rec_name in ("100", "106", "203", "208"):
        rec = read_recording(root / "mitdb" / f"{rec_name}.hea")
        long.append(_ms(lambda: analyze_recording(rec), repeat=2))
    print(f"30 min 2-lead MIT-BIH (100, 106, 203, 208): median {statistics.median(long):.0f} ms, "
          f"max {max(long):.0f} ms")


if __name__ == "__main__":
    main()
