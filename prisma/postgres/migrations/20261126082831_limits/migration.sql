-- CreateTable
CREATE TABLE "Budget" (
    "id" TEXT NOT NULL,
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
    "createdAt" TIMESTAMP(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Budget_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BudgetAlert" (
    "budgetId" TEXT NOT NULL,
    "period" TEXT NOT NULL,
    "threshold" INTEGER NOT NULL,
    "state" TEXT NOT NULL,
    "crossedAt" TIMESTAMP(3) NOT NULL,
    "backUnderAt" TIMESTAMP(3),
    "spendNanos" BIGINT NOT NULL,
    "resetAt" TIMESTAMP(3),

    CONSTRAINT "BudgetAlert_pkey" PRIMARY KEY ("budgetId","period","threshold")
);

-- CreateTable
CREATE TABLE "BudgetEnforcement" (
    "id" TEXT NOT NULL,
    "budgetId" TEXT NOT NULL,
    "period" TEXT NOT NULL,
    "keyIds" TEXT NOT NULL,
    "disabledAt" TIMESTAMP(3) NOT NULL,
    "reenabledAt" TIMESTAMP(3),
    "reenabledBy" TEXT,
    "platform" TEXT,
    "teamId" TEXT,
    "channelId" TEXT,
    "messageId" TEXT,

    CONSTRAINT "BudgetEnforcement_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SpendAnomaly" (
    "id" TEXT NOT NULL,
    "subjectType" TEXT NOT NULL,
    "subjectId" TEXT NOT NULL,
    "window" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "lastSeenAt" TIMESTAMP(3) NOT NULL,
    "endedAt" TIMESTAMP(3),
    "costNanos" BIGINT NOT NULL,
    "baselineNanos" BIGINT NOT NULL,
    "platform" TEXT,
    "teamId" TEXT,
    "channelId" TEXT,
    "messageId" TEXT,

    CONSTRAINT "SpendAnomaly_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Budget_scope_targetId_key" ON "Budget"("scope", "targetId");

-- CreateIndex
CREATE UNIQUE INDEX "BudgetEnforcement_budgetId_period_key" ON "BudgetEnforcement"("budgetId", "period");

-- CreateIndex
CREATE INDEX "SpendAnomaly_subjectType_subjectId_endedAt_idx" ON "SpendAnomaly"("subjectType", "subjectId", "endedAt");

-- CreateIndex
CREATE UNIQUE INDEX "SpendAnomaly_subjectType_subjectId_startedAt_key" ON "SpendAnomaly"("subjectType", "subjectId", "startedAt");
