-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "lease" INTEGER NOT NULL DEFAULT 0;

-- Rows of steps that runs before fencing wrote twice: the latest row of each step stays.
DELETE FROM "Metric" AS older USING "Metric" AS newer
WHERE older."jobId" = newer."jobId" AND older."split" = newer."split" AND older."step" = newer."step" AND older."id" < newer."id";

-- DropIndex
DROP INDEX "Metric_jobId_step_idx";

-- CreateIndex
CREATE UNIQUE INDEX "Metric_jobId_split_step_key" ON "Metric"("jobId", "split", "step");

-- CreateIndex
CREATE INDEX "Job_status_createdAt_idx" ON "Job"("status", "createdAt");
