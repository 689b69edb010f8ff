"""jobd for Python: a client of jobd.v1.JobService and QueueService and a Worker that runs
jobs in handlers.

    from jobd import Client, Worker

    client = Client("127.0.0.1:50051", api_key="jobd_...")
    job = client.create_job("import.csv", {"file": "a.csv"}, workspace_id="default")

    worker = Worker(client, workspace_id="default", concurrency=4)

    @worker.handler("import.csv")
    def import_csv(job, ctx):
        ctx.progress(50, "half way")
        return {"rows": 120}

    worker.start()
    ...
    worker.stop()

The message and stub modules (`jobd.v1.*_pb2`) are generated from proto/jobd/v1 by
generate.sh; see README.md.
"""
import pkgutil

# The generated modules live in a jobd/v1/ directory that may sit in another directory on
# sys.path (generate.sh OUTDIR): let `jobd.v1` be found in any of them.
__path__ = pkgutil.extend_path(__path__, __name__)

from jobd.convert import struct_to_dict, dict_to_struct  # noqa: E402
from jobd.client import Client, TRANSIENT_CODES, is_terminal  # noqa: E402
from jobd.context import JobContext, PermanentError  # noqa: E402
from jobd.worker import Worker  # noqa: E402

__all__ = [
    "Client",
    "JobContext",
    "PermanentError",
    "TRANSIENT_CODES",
    "Worker",
    "dict_to_struct",
    "is_terminal",
    "struct_to_dict",
]
