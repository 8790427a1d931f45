-- CreateTable
CREATE TABLE "RateLimitHit" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "key" TEXT NOT NULL,
    "at" DATETIME NOT NULL
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_LinkRequest" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "platform" TEXT NOT NULL,
    "teamId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "orgUserId" TEXT,
    "status" TEXT NOT NULL,
    "pendingKey" TEXT,
    "createdAt" DATETIME NOT NULL,
    "decidedAt" DATETIME,
    "decidedBy" TEXT,
    "channelId" TEXT,
    "messageId" TEXT
);
INSERT INTO "new_LinkRequest" ("channelId", "createdAt", "decidedAt", "decidedBy", "email", "id", "messageId", "orgUserId", "platform", "status", "teamId", "userId") SELECT "channelId", "createdAt", "decidedAt", "decidedBy", "email", "id", "messageId", "orgUserId", "platform", "status", "teamId", "userId" FROM "LinkRequest";
DROP TABLE "LinkRequest";
ALTER TABLE "new_LinkRequest" RENAME TO "LinkRequest";
CREATE UNIQUE INDEX "LinkRequest_pendingKey_key" ON "LinkRequest"("pendingKey");
CREATE INDEX "LinkRequest_platform_teamId_userId_status_idx" ON "LinkRequest"("platform", "teamId", "userId", "status");
CREATE INDEX "LinkRequest_platform_teamId_status_idx" ON "LinkRequest"("platform", "teamId", "status");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "RateLimitHit_key_at_idx" ON "RateLimitHit"("key", "at");

-- Requests already pending keep blocking a second one from the same chat account.
UPDATE "LinkRequest" SET "pendingKey" = "platform" || ':' || "teamId" || ':' || "userId" WHERE "status" = 'pending';
