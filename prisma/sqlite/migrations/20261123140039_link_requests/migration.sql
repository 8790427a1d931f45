-- CreateTable
CREATE TABLE "LinkRequest" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "platform" TEXT NOT NULL,
    "teamId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "orgUserId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "decidedAt" DATETIME,
    "decidedBy" TEXT,
    "channelId" TEXT,
    "messageId" TEXT
);

-- CreateTable
CREATE TABLE "ActionToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "subjectId" TEXT NOT NULL,
    "choice" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE INDEX "LinkRequest_platform_teamId_userId_status_idx" ON "LinkRequest"("platform", "teamId", "userId", "status");

-- CreateIndex
CREATE INDEX "ActionToken_subjectId_idx" ON "ActionToken"("subjectId");
