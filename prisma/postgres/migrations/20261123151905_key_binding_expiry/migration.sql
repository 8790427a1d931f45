-- AlterTable
ALTER TABLE "KeyBinding" ADD COLUMN     "expiryEnforcedAt" TIMESTAMP(3);
