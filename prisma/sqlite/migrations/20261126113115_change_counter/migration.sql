-- CreateTable
CREATE TABLE "ChangeCounter" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "version" INTEGER NOT NULL DEFAULT 0
);

-- Every change of an identity link, by whichever writer, bumps the `links` counter (src/store/links-store.ts).
INSERT INTO "ChangeCounter" ("name", "version") VALUES ('links', 0);
CREATE TRIGGER "IdentityLink_bump_insert" AFTER INSERT ON "IdentityLink"
BEGIN
    UPDATE "ChangeCounter" SET "version" = "version" + 1 WHERE "name" = 'links';
END;
CREATE TRIGGER "IdentityLink_bump_update" AFTER UPDATE ON "IdentityLink"
BEGIN
    UPDATE "ChangeCounter" SET "version" = "version" + 1 WHERE "name" = 'links';
END;
CREATE TRIGGER "IdentityLink_bump_delete" AFTER DELETE ON "IdentityLink"
BEGIN
    UPDATE "ChangeCounter" SET "version" = "version" + 1 WHERE "name" = 'links';
END;
