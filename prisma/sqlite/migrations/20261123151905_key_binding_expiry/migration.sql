-- AlterTable
ALTER TABLE "KeyBinding" ADD COLUMN "expiryEnforcedAt" DATETIME;
