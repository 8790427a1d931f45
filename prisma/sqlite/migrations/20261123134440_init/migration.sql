-- CreateTable
CREATE TABLE "IdentityLink" (
    "platform" TEXT NOT NULL,
    "teamId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "orgUserId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "emailLower" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "linkedAt" DATETIME NOT NULL,
    "refreshedAt" DATETIME NOT NULL,

    PRIMARY KEY ("platform", "teamId", "userId")
);

-- CreateTable
CREATE TABLE "OrgUser" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "email" TEXT NOT NULL,
    "emailLower" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "addedAt" DATETIME,
    "syncedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Invite" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "email" TEXT NOT NULL,
    "emailLower" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "invitedAt" DATETIME,
    "expiresAt" DATETIME,
    "syncedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Workspace" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "createdAt" DATETIME,
    "archivedAt" DATETIME,
    "displayColor" TEXT,
    "syncedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "WorkspaceMember" (
    "workspaceId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "workspaceRole" TEXT NOT NULL,
    "syncedAt" DATETIME NOT NULL,

    PRIMARY KEY ("workspaceId", "userId")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "partialKeyHint" TEXT,
    "workspaceId" TEXT,
    "createdAt" DATETIME,
    "createdById" TEXT,
    "createdByType" TEXT,
    "expiresAt" DATETIME,
    "syncedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "DirectorySync" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "lastSyncedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "seq" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "id" TEXT NOT NULL,
    "at" DATETIME NOT NULL,
    "platform" TEXT NOT NULL,
    "teamId" TEXT,
    "actorId" TEXT NOT NULL,
    "orgUserId" TEXT,
    "actorEmail" TEXT,
    "action" TEXT NOT NULL,
    "options" JSONB NOT NULL,
    "outcome" TEXT NOT NULL,
    "stage" TEXT NOT NULL,
    "errorCode" TEXT,
    "message" TEXT,
    "durationMs" INTEGER NOT NULL
);

-- CreateIndex
CREATE INDEX "IdentityLink_orgUserId_idx" ON "IdentityLink"("orgUserId");

-- CreateIndex
CREATE INDEX "IdentityLink_emailLower_idx" ON "IdentityLink"("emailLower");

-- CreateIndex
CREATE INDEX "OrgUser_emailLower_idx" ON "OrgUser"("emailLower");

-- CreateIndex
CREATE INDEX "Invite_emailLower_idx" ON "Invite"("emailLower");

-- CreateIndex
CREATE INDEX "WorkspaceMember_userId_idx" ON "WorkspaceMember"("userId");

-- CreateIndex
CREATE INDEX "ApiKey_workspaceId_idx" ON "ApiKey"("workspaceId");

-- CreateIndex
CREATE UNIQUE INDEX "AuditEvent_id_key" ON "AuditEvent"("id");

-- CreateIndex
CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");
