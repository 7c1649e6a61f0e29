using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace HashHub.Server.Storage.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class ContributionMemberWithoutForeignKey : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "FK_contributions_members_MemberId",
                table: "contributions");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddForeignKey(
                name: "FK_contributions_members_MemberId",
                table: "contributions",
                column: "MemberId",
                principalTable: "members",
                principalColumn: "Id",
                onDelete: ReferentialAction.Restrict);
        }
    }
}
