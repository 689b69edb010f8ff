'use strict';
// jobd's Node.js client and worker. See README.md.
const { JobdClient, createJobRequest, bulkJobsRequest } = require('./client');
const { Worker, PermanentError, defaultWorkerId } = require('./worker');
const { JobContext, JobStoppedError, cleanText } = require('./context');
const proto = require('./proto');
const { status } = require('@grpc/grpc-js');

module.exports = {
  JobdClient,
  Worker,
  PermanentError,
  JobContext,
  JobStoppedError,
  createJobRequest,
  bulkJobsRequest,
  defaultWorkerId,
  cleanText,
  status, // grpc status codes, to compare with error.code
  ...proto,
};
