-- CreateTable
CREATE TABLE "Budget" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "scope" TEXT NOT NULL,
    "targetId" TEXT NOT NULL,
    "targetName" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "amountNanos" BIGINT NOT NULL,
    "period" TEXT NOT NULL,
    "timezone" TEXT NOT NULL,
    "thresholds" TEXT NOT NULL,
    "enforce" BOOLEAN NOT NULL,
    "reenable" TEXT NOT NULL,
    "platform" TEXT NOT NULL,
    "teamId" TEXT NOT NULL,
    "channelId" TEXT NOT NULL,
    "createdBy" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "BudgetAlert" (
    "budgetId" TEXT NOT NULL,
    "period" TEXT NOT NULL,
    "threshold" INTEGER NOT NULL,
    "state" TEXT NOT NULL,
    "crossedAt" DATETIME NOT NULL,
    "backUnderAt" DATETIME,
    "spendNanos" BIGINT NOT NULL,
    "resetAt" DATETIME,

    PRIMARY KEY ("budgetId", "period", "threshold")
);

-- CreateTable
CREATE TABLE "BudgetEnforcement" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "budgetId" TEXT NOT NULL,
    "period" TEXT NOT NULL,
    "keyIds" TEXT NOT NULL,
    "disabledAt" DATETIME NOT NULL,
    "reenabledAt" DATETIME,
    "reenabledBy" TEXT,
    "platform" TEXT,
    "teamId" TEXT,
    "channelId" TEXT,
    "messageId" TEXT
);

-- CreateTable
CREATE TABLE "SpendAnomaly" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "subjectType" TEXT NOT NULL,
    "subjectId" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "startedAt" DATETIME NOT NULL,
    "lastSeenAt" DATETIME NOT NULL,
    "endedAt" DATETIME,
    "costNanos" BIGINT NOT NULL,
    "baselineNanos" BIGINT NOT NULL,
    "platform" TEXT,
    "teamId" TEXT,
    "channelId" TEXT,
    "messageId" TEXT
);

-- CreateIndex
CREATE UNIQUE INDEX "Budget_scope_targetId_key" ON "Budget"("scope", "targetId");

-- CreateIndex
CREATE UNIQUE INDEX "BudgetEnforcement_budgetId_period_key" ON "BudgetEnforcement"("budgetId", "period");

-- CreateIndex
CREATE INDEX "SpendAnomaly_subjectType_subjectId_endedAt_idx" ON "SpendAnomaly"("subjectType", "subjectId", "endedAt");

-- CreateIndex
CREATE UNIQUE INDEX "SpendAnomaly_subjectType_subjectId_startedAt_key" ON "SpendAnomaly"("subjectType", "subjectId", "startedAt");
