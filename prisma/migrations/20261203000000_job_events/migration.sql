-- Each job's event log: seq numbers taken under the job row's lock follow commit order.
ALTER TABLE "Job" ADD COLUMN "eventSeq" INTEGER NOT NULL DEFAULT 0;

CREATE TABLE "JobEvent" (
    "jobId" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "level" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "data" JSONB,

    CONSTRAINT "JobEvent_pkey" PRIMARY KEY ("jobId","seq")
);
ALTER TABLE "JobEvent" ADD CONSTRAINT "JobEvent_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The checkpoints a job saved, with their metrics.
CREATE TABLE "CheckpointRecord" (
    "jobId" UUID NOT NULL,
    "step" INTEGER NOT NULL,
    "metrics" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CheckpointRecord_pkey" PRIMARY KEY ("jobId","step")
);
ALTER TABLE "CheckpointRecord" ADD CONSTRAINT "CheckpointRecord_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Jobs from before the log get one event: where they stand now.
INSERT INTO "JobEvent" ("jobId", "seq", "createdAt", "level", "type", "message", "data")
SELECT "id", 1, COALESCE("finishedAt", "startedAt", "createdAt"),
       CASE WHEN "status" = 'failed' THEN 'error' ELSE 'info' END, 'message',
       'job ' || "status"::text || ' (before the event log)', jsonb_build_object('status', "status"::text)
FROM "Job";
UPDATE "Job" SET "eventSeq" = 1;
