-- CreateTable
CREATE TABLE "ApprovalRequest" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "requesterPlatform" TEXT NOT NULL,
    "requesterTeamId" TEXT NOT NULL,
    "requesterUserId" TEXT NOT NULL,
    "requesterOrgId" TEXT NOT NULL,
    "requesterEmail" TEXT NOT NULL,
    "workspaceId" TEXT,
    "workspaceName" TEXT,
    "payload" JSONB NOT NULL,
    "reason" TEXT,
    "summary" TEXT NOT NULL,
    "quorum" INTEGER NOT NULL,
    "approvers" JSONB NOT NULL,
    "policySource" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "remindedAt" DATETIME,
    "decidedAt" DATETIME,
    "decidedBy" TEXT,
    "executeAfter" DATETIME,
    "leaseUntil" DATETIME,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "executedAt" DATETIME,
    "result" JSONB,
    "error" TEXT,
    "version" INTEGER NOT NULL DEFAULT 0
);

-- CreateTable
CREATE TABLE "ApprovalVote" (
    "requestId" TEXT NOT NULL,
    "voterOrgId" TEXT NOT NULL,
    "voterEmail" TEXT NOT NULL,
    "platform" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "choice" TEXT NOT NULL,
    "at" DATETIME NOT NULL,

    PRIMARY KEY ("requestId", "voterOrgId")
);

-- CreateTable
CREATE TABLE "ApprovalCard" (
    "requestId" TEXT NOT NULL,
    "platform" TEXT NOT NULL,
    "teamId" TEXT NOT NULL,
    "channelId" TEXT NOT NULL,
    "messageId" TEXT NOT NULL,

    PRIMARY KEY ("requestId", "platform", "channelId", "messageId")
);

-- CreateTable
CREATE TABLE "JobLease" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "holder" TEXT NOT NULL,
    "expiresAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "AccessGrant" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "requestId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "orgUserId" TEXT NOT NULL,
    "workspaceId" TEXT,
    "previousRole" TEXT,
    "grantedRole" TEXT NOT NULL,
    "grantedAt" DATETIME NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "status" TEXT NOT NULL,
    "boundKeyId" TEXT,
    "revokedAt" DATETIME,
    "note" TEXT
);

-- CreateTable
CREATE TABLE "KeyBinding" (
    "keyId" TEXT NOT NULL PRIMARY KEY,
    "requestId" TEXT NOT NULL,
    "ownerOrgId" TEXT NOT NULL,
    "approverOrgId" TEXT,
    "workspaceId" TEXT,
    "boundAt" DATETIME NOT NULL,
    "expiresAt" DATETIME,
    "replacesKeyId" TEXT,
    "replacedAt" DATETIME
);

-- CreateIndex
CREATE INDEX "ApprovalRequest_status_expiresAt_idx" ON "ApprovalRequest"("status", "expiresAt");

-- CreateIndex
CREATE INDEX "ApprovalRequest_requesterOrgId_createdAt_idx" ON "ApprovalRequest"("requesterOrgId", "createdAt");

-- CreateIndex
CREATE INDEX "AccessGrant_status_expiresAt_idx" ON "AccessGrant"("status", "expiresAt");

-- CreateIndex
CREATE INDEX "AccessGrant_requestId_idx" ON "AccessGrant"("requestId");
