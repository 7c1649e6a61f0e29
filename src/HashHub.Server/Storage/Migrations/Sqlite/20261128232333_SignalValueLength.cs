using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace HashHub.Server.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class SignalValueLength : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {

        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {

        }
    }
}
