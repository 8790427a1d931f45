-- AlterTable
ALTER TABLE "LinkRequest" ADD COLUMN     "pendingKey" TEXT,
ALTER COLUMN "orgUserId" DROP NOT NULL;

-- CreateTable
CREATE TABLE "RateLimitHit" (
    "id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "RateLimitHit_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RateLimitHit_key_at_idx" ON "RateLimitHit"("key", "at");

-- CreateIndex
CREATE UNIQUE INDEX "LinkRequest_pendingKey_key" ON "LinkRequest"("pendingKey");

-- CreateIndex
CREATE INDEX "LinkRequest_platform_teamId_status_idx" ON "LinkRequest"("platform", "teamId", "status");

-- Requests already pending keep blocking a second one from the same chat account.
UPDATE "LinkRequest" SET "pendingKey" = "platform" || ':' || "teamId" || ':' || "userId" WHERE "status" = 'pending';
