-- CreateTable
CREATE TABLE "SlackInstallation" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "teamId" TEXT,
    "enterpriseId" TEXT,
    "botUserId" TEXT,
    "scopes" TEXT NOT NULL,
    "installedAt" DATETIME NOT NULL,
    "ciphertext" TEXT NOT NULL
);

-- CreateIndex
CREATE INDEX "SlackInstallation_teamId_idx" ON "SlackInstallation"("teamId");
