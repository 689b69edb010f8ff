"""The generated jobd.v1 modules (generate.sh), imported in one place so that a missing
generation fails with a message that says what to do."""
try:
    from jobd.v1 import job_pb2, job_service_pb2, job_service_pb2_grpc
    from jobd.v1 import worker_service_pb2, worker_service_pb2_grpc
    from jobd.v1 import admin_service_pb2_grpc, queue_service_pb2, queue_service_pb2_grpc
    from jobd.v1 import schedule_service_pb2_grpc, template_service_pb2_grpc
except ImportError as error:  # depends on the installation
    raise ImportError(
        "the jobd.v1 modules are not generated: run client/python/generate.sh [OUTDIR] and put "
        "OUTDIR (if one was given) on PYTHONPATH next to client/python") from error

__all__ = [
    "admin_service_pb2_grpc", "job_pb2", "job_service_pb2", "job_service_pb2_grpc",
    "queue_service_pb2", "queue_service_pb2_grpc", "schedule_service_pb2_grpc",
    "template_service_pb2_grpc", "worker_service_pb2", "worker_service_pb2_grpc",
]
