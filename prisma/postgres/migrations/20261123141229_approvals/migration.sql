-- CreateTable
CREATE TABLE "ApprovalRequest" (
    "id" TEXT NOT NULL,
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
    "createdAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "remindedAt" TIMESTAMP(3),
    "decidedAt" TIMESTAMP(3),
    "decidedBy" TEXT,
    "executeAfter" TIMESTAMP(3),
    "leaseUntil" TIMESTAMP(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "executedAt" TIMESTAMP(3),
    "result" JSONB,
    "error" TEXT,
    "version" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "ApprovalRequest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApprovalVote" (
    "requestId" TEXT NOT NULL,
    "voterOrgId" TEXT NOT NULL,
    "voterEmail" TEXT NOT NULL,
    "platform" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "choice" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ApprovalVote_pkey" PRIMARY KEY ("requestId","voterOrgId")
);

-- CreateTable
CREATE TABLE "ApprovalCard" (
    "requestId" TEXT NOT NULL,
    "platform" TEXT NOT NULL,
    "teamId" TEXT NOT NULL,
    "channelId" TEXT NOT NULL,
    "messageId" TEXT NOT NULL,

    CONSTRAINT "ApprovalCard_pkey" PRIMARY KEY ("requestId","platform","channelId","messageId")
);

-- CreateTable
CREATE TABLE "JobLease" (
    "name" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "JobLease_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "AccessGrant" (
    "id" TEXT NOT NULL,
    "requestId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "orgUserId" TEXT NOT NULL,
    "workspaceId" TEXT,
    "previousRole" TEXT,
    "grantedRole" TEXT NOT NULL,
    "grantedAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "status" TEXT NOT NULL,
    "boundKeyId" TEXT,
    "revokedAt" TIMESTAMP(3),
    "note" TEXT,

    CONSTRAINT "AccessGrant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "KeyBinding" (
    "keyId" TEXT NOT NULL,
    "requestId" TEXT NOT NULL,
    "ownerOrgId" TEXT NOT NULL,
    "approverOrgId" TEXT,
    "workspaceId" TEXT,
    "boundAt" TIMESTAMP(3) NOT NULL,
    "expiresAt" TIMESTAMP(3),
    "replacesKeyId" TEXT,
    "replacedAt" TIMESTAMP(3),

    CONSTRAINT "KeyBinding_pkey" PRIMARY KEY ("keyId")
);

-- CreateIndex
CREATE INDEX "ApprovalRequest_status_expiresAt_idx" ON "ApprovalRequest"("status", "expiresAt");

-- CreateIndex
CREATE INDEX "ApprovalRequest_requesterOrgId_createdAt_idx" ON "ApprovalRequest"("requesterOrgId", "createdAt");

-- CreateIndex
CREATE INDEX "AccessGrant_status_expiresAt_idx" ON "AccessGrant"("status", "expiresAt");

-- CreateIndex
CREATE INDEX "AccessGrant_requestId_idx" ON "AccessGrant"("requestId");
