-- What a job's submit checks need of a dataset (row count, fields, label set, longest values), computed at upload; null for datasets uploaded before.
ALTER TABLE "Dataset" ADD COLUMN "summary" JSONB;
