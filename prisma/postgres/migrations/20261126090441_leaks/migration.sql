-- CreateTable
CREATE TABLE "LeakIncident" (
    "id" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "hint" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "apiKeyId" TEXT,
    "apiKeyName" TEXT,
    "workspaceId" TEXT,
    "status" TEXT NOT NULL,
    "autoDeactivated" BOOLEAN NOT NULL DEFAULT false,
    "firstSeenAt" TIMESTAMP(3) NOT NULL,
    "lastSeenAt" TIMESTAMP(3) NOT NULL,
    "sightingCount" INTEGER NOT NULL,
    "closedAt" TIMESTAMP(3),
    "closedBy" TEXT,
    "closeReason" TEXT,
    "platform" TEXT,
    "teamId" TEXT,
    "channelId" TEXT,
    "messageId" TEXT,

    CONSTRAINT "LeakIncident_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LeakSighting" (
    "id" SERIAL NOT NULL,
    "incidentId" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "sourceKey" TEXT NOT NULL,
    "location" TEXT NOT NULL,
    "url" TEXT,
    "actor" TEXT,
    "seenAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LeakSighting_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WebhookDelivery" (
    "id" TEXT NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "WebhookDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ServerSecret" (
    "name" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ServerSecret_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE UNIQUE INDEX "LeakIncident_fingerprint_key" ON "LeakIncident"("fingerprint");

-- CreateIndex
CREATE INDEX "LeakIncident_status_lastSeenAt_idx" ON "LeakIncident"("status", "lastSeenAt");

-- CreateIndex
CREATE UNIQUE INDEX "LeakSighting_sourceKey_key" ON "LeakSighting"("sourceKey");

-- CreateIndex
CREATE INDEX "LeakSighting_incidentId_idx" ON "LeakSighting"("incidentId");
