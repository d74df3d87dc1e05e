-- Evaluations run as jobs of their own kind: the prompt they score, and their report.
ALTER TABLE "Job" ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'train';
ALTER TABLE "Job" ADD COLUMN "promptId" UUID;
ALTER TABLE "Job" ADD COLUMN "result" JSONB;
ALTER TABLE "Job" ADD CONSTRAINT "Job_promptId_fkey" FOREIGN KEY ("promptId") REFERENCES "Prompt"("id") ON DELETE SET NULL ON UPDATE CASCADE;
CREATE INDEX "Job_promptId_createdAt_idx" ON "Job"("promptId", "createdAt");
