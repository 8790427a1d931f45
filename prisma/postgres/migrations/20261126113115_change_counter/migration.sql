-- CreateTable
CREATE TABLE "ChangeCounter" (
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "ChangeCounter_pkey" PRIMARY KEY ("name")
);

-- Every change of an identity link, by whichever writer, bumps the `links` counter (src/store/links-store.ts):
-- one bump per row changed, as on SQLite (row-level AFTER triggers fire once per inserted, updated or deleted row).
INSERT INTO "ChangeCounter" ("name", "version") VALUES ('links', 0);
CREATE FUNCTION "qm_bump_links"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE "ChangeCounter" SET "version" = "version" + 1 WHERE "name" = 'links';
    RETURN NULL;
END;
$$;
CREATE TRIGGER "IdentityLink_bump" AFTER INSERT OR UPDATE OR DELETE ON "IdentityLink"
    FOR EACH ROW EXECUTE FUNCTION "qm_bump_links"();
