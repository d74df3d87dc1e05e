-- Prompts outlive their jobs (a deleted job leaves its prompt), and an imported prompt has none.
ALTER TABLE "Prompt" DROP CONSTRAINT "Prompt_jobId_fkey";
ALTER TABLE "Prompt" ALTER COLUMN "jobId" DROP NOT NULL;
ALTER TABLE "Prompt" ADD CONSTRAINT "Prompt_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- How each prompt came, and its spec beside it (until now read from its job's).
ALTER TABLE "Prompt" ADD COLUMN "source" TEXT NOT NULL DEFAULT 'trained';
ALTER TABLE "Prompt" ADD COLUMN "spec" JSONB;
UPDATE "Prompt" AS p SET "spec" = j."spec" -> 'prompt' FROM "Job" AS j WHERE p."jobId" = j."id";
ALTER TABLE "Prompt" ALTER COLUMN "spec" SET NOT NULL;

-- A dataset can be deleted once no queued or running job uses it; the jobs that ended keep their record.
ALTER TABLE "Job" DROP CONSTRAINT "Job_datasetId_fkey";
ALTER TABLE "Job" ALTER COLUMN "datasetId" DROP NOT NULL;
ALTER TABLE "Job" ADD CONSTRAINT "Job_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Listings of a tenant's prompts by model.
CREATE INDEX "Prompt_tenantId_modelId_createdAt_idx" ON "Prompt"("tenantId", "modelId", "createdAt");
