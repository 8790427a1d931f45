-- CreateTable
CREATE TABLE "UsageHour" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "bucketStart" DATETIME NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "apiKeyId" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "serviceTier" TEXT NOT NULL,
    "uncachedInput" BIGINT NOT NULL,
    "cacheRead" BIGINT NOT NULL,
    "cacheWrite5m" BIGINT NOT NULL,
    "cacheWrite1h" BIGINT NOT NULL,
    "output" BIGINT NOT NULL,
    "webSearch" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "CostDay" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "day" DATETIME NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "costType" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "tokenType" TEXT NOT NULL,
    "serviceTier" TEXT NOT NULL,
    "nanos" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "ClaudeCodeDay" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "day" DATETIME NOT NULL,
    "actorType" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "terminalType" TEXT NOT NULL,
    "customerType" TEXT NOT NULL,
    "sessions" INTEGER NOT NULL,
    "linesAdded" INTEGER NOT NULL,
    "linesRemoved" INTEGER NOT NULL,
    "commits" INTEGER NOT NULL,
    "pullRequests" INTEGER NOT NULL,
    "toolAccepted" INTEGER NOT NULL,
    "toolRejected" INTEGER NOT NULL,
    "inputTokens" BIGINT NOT NULL,
    "outputTokens" BIGINT NOT NULL,
    "cacheRead" BIGINT NOT NULL,
    "cacheCreation" BIGINT NOT NULL,
    "costNanos" BIGINT NOT NULL
);

-- CreateTable
CREATE TABLE "ReportSync" (
    "report" TEXT NOT NULL PRIMARY KEY,
    "syncedThrough" DATETIME NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "DigestSubscription" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "platform" TEXT NOT NULL,
    "teamId" TEXT NOT NULL,
    "channelId" TEXT NOT NULL,
    "cadence" TEXT NOT NULL,
    "time" TEXT NOT NULL,
    "timezone" TEXT NOT NULL,
    "weekday" INTEGER NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "DigestDelivery" (
    "subscriptionId" TEXT NOT NULL,
    "period" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "claimedAt" DATETIME NOT NULL,
    "sentAt" DATETIME,

    PRIMARY KEY ("subscriptionId", "period")
);

-- CreateIndex
CREATE INDEX "UsageHour_bucketStart_idx" ON "UsageHour"("bucketStart");

-- CreateIndex
CREATE INDEX "UsageHour_apiKeyId_bucketStart_idx" ON "UsageHour"("apiKeyId", "bucketStart");

-- CreateIndex
CREATE INDEX "CostDay_day_idx" ON "CostDay"("day");

-- CreateIndex
CREATE INDEX "ClaudeCodeDay_day_idx" ON "ClaudeCodeDay"("day");

-- CreateIndex
CREATE UNIQUE INDEX "DigestSubscription_platform_teamId_channelId_cadence_key" ON "DigestSubscription"("platform", "teamId", "channelId", "cadence");
