"""A Python service using jobd through stubs generated from proto/jobd/v1 (grpcio, Debian's).

Run by python_client_test.sh with: the generated modules on PYTHONPATH, argv = address,
admin key. Every check asserts an exact outcome; any failure raises and exits non-zero.
"""
import sys

import grpc
from google.protobuf import struct_pb2

from jobd.v1 import admin_service_pb2, admin_service_pb2_grpc
from jobd.v1 import job_pb2, job_service_pb2, job_service_pb2_grpc
from jobd.v1 import worker_service_pb2, worker_service_pb2_grpc

address, admin_key = sys.argv[1], sys.argv[2]
channel = grpc.insecure_channel(address)
jobs = job_service_pb2_grpc.JobServiceStub(channel)
workers = worker_service_pb2_grpc.WorkerServiceStub(channel)
admin = admin_service_pb2_grpc.AdminServiceStub(channel)


def auth(key):
    return [("authorization", "Bearer " + key)]


def expect_code(code, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except grpc.RpcError as error:
        assert error.code() == code, (error.code(), error.details())
        return error.details()
    raise AssertionError(f"expected {code}, the call succeeded")


# No key, a made-up key: UNAUTHENTICATED.
expect_code(grpc.StatusCode.UNAUTHENTICATED, jobs.ListJobs,
            job_service_pb2.ListJobsRequest(workspace_id="py"), timeout=10)
expect_code(grpc.StatusCode.UNAUTHENTICATED, jobs.ListJobs,
            job_service_pb2.ListJobsRequest(workspace_id="py"), metadata=auth("jobd_nope"),
            timeout=10)

# The admin makes a member key for workspace "py" and a worker key, as a service would.
member = admin.CreateApiKey(admin_service_pb2.CreateApiKeyRequest(
    name="py-service", role=admin_service_pb2.API_KEY_ROLE_MEMBER, workspace_id="py"),
    metadata=auth(admin_key), timeout=10)
worker = admin.CreateApiKey(admin_service_pb2.CreateApiKeyRequest(
    name="py-worker", role=admin_service_pb2.API_KEY_ROLE_WORKER, workspace_id="py"),
    metadata=auth(admin_key), timeout=10)
assert member.secret.startswith("jobd_") and member.api_key.name == "py-service"

# Create with a payload that has quotes, unicode and nesting; it comes back verbatim.
payload = struct_pb2.Struct()
payload.update({"file": "s3://b/\"q\".csv", "name": "naïve ✓", "rows": 120, "opts": {"a": [1, 2]}})
created = jobs.CreateJob(job_service_pb2.CreateJobRequest(
    workspace_id="py", type="import.csv", payload=payload, labels={"team": "data"}),
    metadata=auth(member.secret), timeout=10).job
assert created.state == job_pb2.JOB_STATE_QUEUED, created.state
assert created.requested_by == "py-service", created.requested_by
got = jobs.GetJob(job_service_pb2.GetJobRequest(id=created.id),
                  metadata=auth(member.secret), timeout=10).job
assert got.payload == payload, got.payload
assert dict(got.labels) == {"team": "data"}

# Another workspace: PERMISSION_DENIED to list, NOT_FOUND for a job id (ids leak nothing).
expect_code(grpc.StatusCode.PERMISSION_DENIED, jobs.ListJobs,
            job_service_pb2.ListJobsRequest(workspace_id="other"),
            metadata=auth(member.secret), timeout=10)
other = admin.CreateApiKey(admin_service_pb2.CreateApiKeyRequest(
    name="py-other", role=admin_service_pb2.API_KEY_ROLE_MEMBER, workspace_id="other"),
    metadata=auth(admin_key), timeout=10)
expect_code(grpc.StatusCode.NOT_FOUND, jobs.GetJob, job_service_pb2.GetJobRequest(id=created.id),
            metadata=auth(other.secret), timeout=10)
# A member may not work jobs: PERMISSION_DENIED.
expect_code(grpc.StatusCode.PERMISSION_DENIED, workers.AcquireJobs,
            worker_service_pb2.AcquireJobsRequest(workspace_id="py", types=["import.csv"],
                                                  worker_id="w", max_jobs=1),
            metadata=auth(member.secret), timeout=10)

# Watch the job while a worker runs it: SNAPSHOT, RUNNING, progress, SUCCEEDED, then OK.
stream = jobs.WatchJob(job_service_pb2.WatchJobRequest(id=created.id),
                       metadata=auth(member.secret), timeout=30)
first = next(stream).event
assert first.kind == job_pb2.JOB_EVENT_KIND_SNAPSHOT and first.sequence == 1, first

leased = workers.AcquireJobs(worker_service_pb2.AcquireJobsRequest(
    workspace_id="py", types=["import.csv"], worker_id="py-worker-1", max_jobs=1),
    metadata=auth(worker.secret), timeout=10).jobs
assert len(leased) == 1 and leased[0].job.id == created.id
token = leased[0].lease_token
workers.ReportProgress(worker_service_pb2.ReportProgressRequest(
    job_id=created.id, lease_token=token, progress_percent=50, progress_message="half"),
    metadata=auth(worker.secret), timeout=10)
result = struct_pb2.Struct()
result.update({"imported": 120})
done = workers.CompleteJob(worker_service_pb2.CompleteJobRequest(
    job_id=created.id, lease_token=token, result=result),
    metadata=auth(worker.secret), timeout=10).job
assert done.state == job_pb2.JOB_STATE_SUCCEEDED and done.result == result

rest = [(e.event.sequence, e.event.kind, e.event.job.state, e.event.job.progress_percent)
        for e in stream]  # the stream ends (OK) right after the terminal event
assert rest == [
    (2, job_pb2.JOB_EVENT_KIND_STATE_CHANGED, job_pb2.JOB_STATE_RUNNING, 0.0),
    (3, job_pb2.JOB_EVENT_KIND_PROGRESS, job_pb2.JOB_STATE_RUNNING, 50.0),
    (4, job_pb2.JOB_EVENT_KIND_STATE_CHANGED, job_pb2.JOB_STATE_SUCCEEDED, 100.0),
], rest
assert stream.code() == grpc.StatusCode.OK, stream.code()

# Revoking the member key: it is refused at once on this replica.
admin.RevokeApiKey(admin_service_pb2.RevokeApiKeyRequest(id=member.api_key.id),
                   metadata=auth(admin_key), timeout=10)
expect_code(grpc.StatusCode.UNAUTHENTICATED, jobs.GetJob,
            job_service_pb2.GetJobRequest(id=created.id), metadata=auth(member.secret),
            timeout=10)
print("python client: all checks passed")
