-- CreateTable
CREATE TABLE "SlackInstallation" (
    "key" TEXT NOT NULL,
    "teamId" TEXT,
    "enterpriseId" TEXT,
    "botUserId" TEXT,
    "scopes" TEXT NOT NULL,
    "installedAt" TIMESTAMP(3) NOT NULL,
    "ciphertext" TEXT NOT NULL,

    CONSTRAINT "SlackInstallation_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "SlackInstallation_teamId_idx" ON "SlackInstallation"("teamId");
