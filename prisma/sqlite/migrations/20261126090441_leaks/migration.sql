-- CreateTable
CREATE TABLE "LeakIncident" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "fingerprint" TEXT NOT NULL,
    "hint" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "apiKeyId" TEXT,
    "apiKeyName" TEXT,
    "workspaceId" TEXT,
    "status" TEXT NOT NULL,
    "autoDeactivated" BOOLEAN NOT NULL DEFAULT false,
    "firstSeenAt" DATETIME NOT NULL,
    "lastSeenAt" DATETIME NOT NULL,
    "sightingCount" INTEGER NOT NULL,
    "closedAt" DATETIME,
    "closedBy" TEXT,
    "closeReason" TEXT,
    "platform" TEXT,
    "teamId" TEXT,
    "channelId" TEXT,
    "messageId" TEXT
);

-- CreateTable
CREATE TABLE "LeakSighting" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "incidentId" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "sourceKey" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "url" TEXT,
    "actor" TEXT,
    "seenAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "WebhookDelivery" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "receivedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "ServerSecret" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "LeakIncident_fingerprint_key" ON "LeakIncident"("fingerprint");

-- CreateIndex
CREATE INDEX "LeakIncident_status_lastSeenAt_idx" ON "LeakIncident"("status", "lastSeenAt");

-- CreateIndex
CREATE UNIQUE INDEX "LeakSighting_sourceKey_key" ON "LeakSighting"("sourceKey");

-- CreateIndex
CREATE INDEX "LeakSighting_incidentId_idx" ON "LeakSighting"("incidentId");
