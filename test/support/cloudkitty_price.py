"""Prices a window as cloudkitty-processor does, with CloudKitty's own code.

Debian's python3-cloudkitty: for each scope and period, CloudKitty's
orchestrator Worker collects every metric of metrics.yml with the configured
collector and prices the frame with the enabled rating modules (hashmap,
from the price list in CloudKitty's database), as cloudkitty-processor does
once a period is due. The frames are kept in memory instead of InfluxDB, and
the prices are summed by scope and type exactly (Python's decimal with 200
digits), then printed as JSON: {"scope|type": {"price", "qty", "points"}}.

Usage: /usr/bin/python3 cloudkitty_price.py CONFIG BEGIN END SCOPE...
(BEGIN and END are period boundaries, ISO 8601 with a zone.)
"""
import datetime
import decimal
import faulthandler
import json
import sys
import time

from cloudkitty import service

service.prepare_service(["cloudkitty-price", "--config-file", sys.argv[1]])

from oslo_config import cfg  # noqa: E402

from cloudkitty import collector  # noqa: E402
from cloudkitty import orchestrator  # noqa: E402
from cloudkitty.utils import tz as tzutils  # noqa: E402
from gnocchiclient import exceptions as gnocchi_exceptions  # noqa: E402


class Worker(orchestrator.Worker):
    """CloudKitty's worker, with three changes that leave the prices alone:
    the scope's state is not written (the window is given here, and
    CloudKitty 17's state writer fails on Debian's SQLAlchemy: "No
    transaction is begun"), a collection that loses its connection is
    tried again (Gnocchi's uWSGI may close a kept-alive connection that the
    client reuses; CloudKitty would give up the whole cycle), and the
    metrics of a period are collected one after the other instead of in a
    thread pool (outside cloudkitty-processor's eventlet setup, an eventlet
    lock taken in a pool thread can hang the run: "greenlet.error: cannot
    switch to a different thread"); the result is the same dict of metric
    to data."""

    def update_scope_processing_state_db(self, timestamp):
        pass

    def _do_execute_collection(self, _get_result, metrics):
        results = [_get_result(metric) for metric in metrics]
        return dict(r for r in results if r[1] is not None)

    def _collect(self, metric, start_timestamp):
        for attempt in range(5):
            try:
                return super()._collect(metric, start_timestamp)
            except gnocchi_exceptions.ConnectionFailure:
                if attempt == 4:
                    raise
                time.sleep(0.2)


class Frames:
    """What a storage driver's push receives, kept."""

    def __init__(self):
        self.frames = []

    def push(self, frames, scope):
        self.frames.extend((scope, f) for f in frames)


def main():
    begin, end, scopes = sys.argv[2], sys.argv[3], sys.argv[4:]
    period = datetime.timedelta(seconds=cfg.CONF.collect.period)
    store = Frames()
    coll = collector.get_collector()
    for scope in scopes:
        worker = Worker(coll, store, scope, 0)
        t = tzutils.dt_from_iso(begin)
        stop = tzutils.dt_from_iso(end)
        while t < stop:
            worker.do_execute_scope_processing(t)
            t = tzutils.add_delta(t, period)
    totals = {}
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        for scope, frame in store.frames:
            for type_, point in frame.iterpoints():
                tot = totals.setdefault(
                    "%s|%s" % (scope, type_),
                    {"price": decimal.Decimal(0), "qty": decimal.Decimal(0), "points": 0})
                tot["price"] += point.price
                tot["qty"] += point.qty
                tot["points"] += 1
    # On the last line: oslo.log may write to stdout too.
    print(json.dumps({k: {"price": str(v["price"]), "qty": str(v["qty"]), "points": v["points"]}
                      for k, v in sorted(totals.items())}))


# A run that hangs shows where, rather than being killed silently by the test's timeout.
faulthandler.dump_traceback_later(240, exit=True)
main()
